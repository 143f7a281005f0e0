"""Newer syntax: match, async, walrus, decorators, lambdas, comprehensions, global."""
import asyncio
import contextlib
import torch
import torch.nn.functional as F
from torch import nn

DEVICE = "cpu"
registry = {}


def register(name):
    def wrap(cls):
        registry[name] = cls
        return cls
    return wrap


@register("mlp")
class MLP(nn.Module):
    hidden: int = 8
    act = staticmethod(F.gelu)

    def __init__(self, *sizes, dropout=nn.Dropout(0.1), **kwargs):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])])
        self.drop = dropout

    @classmethod
    def small(cls):
        return cls(2, 4)

    @staticmethod
    def describe(x):
        return torch.as_tensor(x)

    def forward(self, x):
        for layer in self.layers:
            x = self.drop(self.act(layer(x)))
        return F.log_softmax(x, dim=-1)


def pick(kind, dtype):
    match kind:
        case "relu":
            return nn.ReLU()
        case "tanh" | "sigmoid" as name:
            return getattr(nn, name.title())()
        case {"kind": "leaky", "slope": slope}:
            return nn.LeakyReLU(slope)
        case nn.Module():
            return kind
        case [first, *rest] if first == torch.float32:
            return nn.Identity()
        case _:
            return {k: v for k, v in registry.items() if v is not None}


async def fetch(batches):
    async with contextlib.AsyncExitStack() as stack:
        async for batch in batches:
            yield torch.stack(batch)
    await asyncio.sleep(0)


def counter():
    global DEVICE
    DEVICE = torch.device("cpu")
    scale = lambda t, k=torch.ones(1): t * k
    squares = {i: torch.full((i,), i) for i in range(3)}
    return scale, squares, {*range(3)}, (y := torch.arange(4))[1:3:1], y[..., None]


with torch.no_grad(), contextlib.suppress(RuntimeError) as ignored:
    model = MLP.small().eval()
    out = model(torch.rand(1, 2))
print(*[t.shape for t in out], sep=", ", end="\n", **{"flush": True})
assert isinstance(out, torch.Tensor), "not a tensor"
raise SystemExit(F.mse_loss(out, out).item()) from None
