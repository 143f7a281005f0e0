"""Sample for tests/test_check_page.py: every import form, re-binding and shadowing.

The page and the command line must report the same APIs at the same lines. Read, never run.
"""
import os
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import nn as layers, optim
from torch.optim.lr_scheduler import StepLR, CosineAnnealingLR as Cosine
from torch.utils.data import DataLoader
import torch.nn.init

try:
    import torch.cuda.amp as amp
except ImportError:
    amp = None

activation = F.relu            # re-bound: a use here, and at every call below
pool = nn.functional.max_pool2d
init = torch.nn.init


def block(channels):
    return nn.Sequential(layers.Conv2d(channels, channels, 3), nn.BatchNorm2d(channels), nn.ReLU())


def forward(x):
    x = activation(x)
    x = pool(x, 2)
    return torch.flatten(x, 1)


def shadowed(F, torch):        # parameters hide the imports inside this function
    return F.relu(torch.cat([1]))


def rebinds_locally():
    nn = object()
    return nn.Linear(2, 2)     # not torch: nn is a local name here


def later_rebinding():
    return optim.Adam          # optim is re-bound at module level below


model = block(4)
weights = model[0].weight
init.kaiming_normal_(weights)
torch.nn.init.zeros_(model[0].bias)
optimizer = optim.SGD(model.parameters(), lr=0.1)
scheduler = StepLR(optimizer, step_size=10)
cosine = Cosine(optimizer, T_max=5)
loader = DataLoader(range(8), batch_size=2)

if os.environ.get("CPU_ONLY"):
    F = None                   # only in one branch: F may still be torch's
F.softmax(weights, dim=0)

activation = len               # re-bound to something else: no longer torch
activation(loader)

optim = None
for step in range(3):
    optimizer.step()
    scheduler.step()
with amp.autocast():
    pass
del pool
