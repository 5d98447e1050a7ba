"""Training: data sets, losses, loops and export to pretrained/. Never imported by inference."""
