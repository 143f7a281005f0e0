import torch
# café in Latin-1, with no coding line
x = torch.zeros(1)
