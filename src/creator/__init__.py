def hello() -> str:
    return "Hello from creator!"
