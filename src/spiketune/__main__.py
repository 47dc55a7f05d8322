from spiketune.cli import app

app()
