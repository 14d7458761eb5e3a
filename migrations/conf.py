IGNORE = ["basemodel"]
