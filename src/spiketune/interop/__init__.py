"""Exchange with the field's formats: NIR graphs and snnTorch models."""
