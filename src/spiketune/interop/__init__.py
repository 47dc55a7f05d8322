"""Exchange with the field's formats: NIR graphs and snnTorch models.

Imports the network and measurement layers and the base modules.
"""
