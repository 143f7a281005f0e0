from typing import Optional

import torch
from torch import Tensor, nn


def normalise(x: Tensor, eps: float = 1e-5) -> Tensor:
    mean = x.mean(dim=0)
    return (x - mean) / (x.std(dim=0) + eps)


def maybe(t: Optional[torch.Tensor], u: "torch.Tensor", v: Tensor | None = None):
    if t is not None:
        t.view(-1)
    u.view(-1)                 # a string annotation does not make u a tensor
    return v.permute(1, 0)


class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("factor", torch.ones(1))
        self.proj = nn.Linear(4, 4)

    def forward(self, x):
        return self.proj(x).view(-1, 2) * self.factor.expand(2)


a = torch.randn(3, 4)
b = a.reshape(4, 3).transpose(0, 1).contiguous()
values, index = torch.max(a, dim=1)
index.item()
rows = [row.sum() for row in a]
total = a.sum().item()
size = a.size(0)
mask = a > 0
picked = torch.where(mask, a, torch.zeros_like(a)).numpy()
if (n := a.numel()) > 3:
    a.repeat(2, 1)
layer_out = Scale()(a).to("cpu")


def unknown(batch, model):
    batch.view(4)              # the receiver is not known to be a tensor: a possible one
    batch.to("cpu")
    return model(batch).size()
