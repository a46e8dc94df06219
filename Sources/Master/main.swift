print("fuller-master")
