# codemesh compatibility shim: the two functions of the wcwidth package old pytest releases use.
import unicodedata


def wcwidth(c):
    o = ord(c)
    if o == 0:
        return 0
    if o < 32 or 0x7F <= o < 0xA0:
        return -1
    if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def wcswidth(s, n=None):
    total = 0
    for c in s if n is None else s[:n]:
        w = wcwidth(c)
        if w < 0:
            return -1
        total += w
    return total
