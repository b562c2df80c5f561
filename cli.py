"""The rensei command line."""
def main() -> None:
    pass
