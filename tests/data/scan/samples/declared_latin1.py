# -*- coding: latin-1 -*-
# Café: a file that declares its encoding.
import torch
name = "déjà vu"; x = torch.sum(torch.ones(2))
x.item()
