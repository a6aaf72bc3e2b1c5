import argparse

parser = argparse.ArgumentParser(prog="tool", description="A test tool.")
parser.add_argument("--count", type=int, default=1, help="how many")
parser.add_argument("--verbose", "-v", action="count", default=0)
parser.add_argument("--name", default="world")
sub = parser.add_subparsers(dest="cmd")
s = sub.add_parser("greet")
s.add_argument("--loud", action="store_true")
print(parser.parse_args(["--count", "3", "-vv", "--name", "bob"]))
print(parser.parse_args(["greet", "--loud"]))
print(parser.format_help())
parser.parse_args(["--count", "not-a-number"])
