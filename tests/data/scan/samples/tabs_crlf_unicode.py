import torch
import torch.nn as nn

class Net(nn.Module):
	def forward(self, x):
		# été: non-ASCII in comments and names
		échelle = torch.mean(x)
		return x * échelle + \
			torch.std(x)

net = Net(); net(torch.var(torch.ones(3)))
