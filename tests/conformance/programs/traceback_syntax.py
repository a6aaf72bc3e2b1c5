print("compiling bad code")
source = "def broken(:\n    pass\n"
compile(source, "snippet.py", "exec")
