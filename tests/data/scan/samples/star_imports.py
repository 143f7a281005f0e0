# Star imports of torch modules: a name counts when the site knows that API under that module.
from torch.nn import *
from torch.nn.functional import *
from torch.optim import *

net = Sequential(Linear(4, 8), ReLU(), Dropout(0.1), Linear(8, 2))
loss = CrossEntropyLoss()
out = relu(softmax(net, dim=1))
opt = SGD(net.parameters(), lr=0.01)
Unknown(3)               # not on the site: a star import cannot say it is torch's
layer = MaxPool2d(2)


def ReLU():              # shadows the star-imported name from here on
    return None


ReLU()
