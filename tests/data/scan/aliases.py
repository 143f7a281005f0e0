"""Fixture for tests/test_scan.py: a small training script that reaches PyTorch through every kind
of alias the scanner resolves. Its exact report is aliases.expected.json: move a line here, and
move it there too. It is read, never run."""
import os
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import nn as layers, optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader

import numpy as np

try:
    import torch.cuda as cuda
except ImportError:
    cuda = None

# torch.cat(...) in a comment is not a use, nor is the string below.
NOTE = "torch.flatten(x) in a string is not a use either"


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = layers.Linear(4, 2)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor):
        hidden = nn.functional.relu(self.fc(x))
        return self.act(hidden).view(-1)


activation = F.relu
features = torch.zeros(3, 4)
joined = torch.cat([features, features])
flat = torch.flatten(joined)
total = flat.sum().item()


@torch.no_grad()
def evaluate(model, batch):
    scores = model(batch)
    return scores.item()


def train(model, loader):
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = StepLR(optimizer, step_size=1)
    for batch in loader:
        with torch.no_grad():
            out = activation(batch)
        optimizer.step()
    scheduler.step()


def reshape(values: torch.Tensor, other):
    known = values.view(2, -1)
    maybe = other.view(2, -1)
    return known, maybe


nn.init.xavier_uniform_(features)
loader = DataLoader(range(4), batch_size=2)
net = Net()
train(net, loader)
restored: torch.Tensor = torch.load("weights.pt")
print(restored.view(-1), net.parameters(), cuda.is_available())

F = np
F.sum(os.sep)
