print("fuller-agent")
