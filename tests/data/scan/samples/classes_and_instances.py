import torch
import torch.nn as nn
from torch.optim import AdamW
from torch.optim.lr_scheduler import StepLR


class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 8), nn.Tanh())

    def helper(self, x):
        return self.body(x)


class Head(Base):
    def forward(self, x):
        return self.helper(x).softmax(dim=-1) + self.offset

    def reset(self):
        self.offset = 0
        nn.init.xavier_uniform_(self.body[0].weight)


class Plain:
    def parameters(self):
        return []


model = Head().to("cpu").train()
optimizer = AdamW(model.parameters(), lr=1e-3)
scheduler = StepLR(optimizer, 1)
plain = Plain()
plain.parameters()
for epoch in range(2):
    optimizer.zero_grad()
    loss = model(torch.randn(4, 8)).mean()
    loss.backward()
    nn.utils.clip_grad_value_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    print(scheduler.get_last_lr(), model.state_dict().keys())
torch.save(model.state_dict(), "head.pt")
model.load_state_dict(torch.load("head.pt"))
