"""A tiny calculator used by the aidx demo."""


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


if __name__ == "__main__":
    print(add(2, 3))
