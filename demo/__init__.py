"""Demo material: a sample Spotify privacy export made from the sandbox's world."""
