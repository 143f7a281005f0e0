"""Sample program for tests/test_scan.py: a small CNN trained on random images, scanned against the
real catalogue of the built site. It is read, never run."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class SmallCNN(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.GELU(), nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(16, classes))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


images = torch.randn(64, 1, 28, 28)
labels = torch.randint(0, 10, (64,))
loader = DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=True)
model = SmallCNN()
criterion = nn.CrossEntropyLoss()
optimizer = optim.AdamW(model.parameters(), lr=1e-3)
scheduler = StepLR(optimizer, step_size=1, gamma=0.5)

for epoch in range(2):
    model.train()
    for batch, target in loader:
        optimizer.zero_grad()
        logits = model(batch)
        loss = criterion(logits, target)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
    scheduler.step()

model.eval()
with torch.no_grad():
    logits = model(images)
    probabilities = F.softmax(logits, dim=1)
    predicted = torch.argmax(probabilities, dim=1)
    accuracy = (predicted == labels).float().mean().item()
    spread = torch.std(logits).item()
    flat = logits.view(-1).permute(0).size()
print(f"accuracy {accuracy:.2f}, spread {spread:.3f}", torch.cat([predicted, labels]).sum().item())
torch.save(model.state_dict(), "small_cnn.pt")
