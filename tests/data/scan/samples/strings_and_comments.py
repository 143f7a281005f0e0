"""torch.cat, nn.Linear and F.relu in a docstring are not uses.

import torch.nn as nn   <- nor is this line
"""
import torch
import torch.nn.functional as F

# torch.zeros(3) in a comment is not a use; neither is F.dropout(x) here.
TEMPLATE = "torch.ones(2) and F.relu in a string are text"
RAW = r"torch.randn(1)\n F.gelu"
BYTES = b"torch.stack"
JOINED = ("torch.cat"
          'torch.mean'   # a comment after a string: torch.sum
          """torch.std""")
HASH = "# torch.max is inside a string, not a comment"
QUOTES = 'it\'s "torch.argmax"'
x = torch.tensor([1.0, 2.0])   # a real use, then a comment: torch.var(x)
label = f"mean {torch.mean(x)} and literal torch.sum {{torch.std}}"   # the field is code, the rest text
nested = f"{F.softmax(x, dim=0)!r:>{torch.numel(x)}}"
multi = f"""
value: {torch.max(
    x)}
"""
print(f"{x.sum()=}", "torch.where")
s = 'torch.clamp'; t = torch.clamp(x, 0, 1)
