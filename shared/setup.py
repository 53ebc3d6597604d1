"""The compiled ALB line scanner; everything else about the package is in pyproject.toml.

Optional: without a C compiler the install still succeeds and the ALB parser uses the
regex the scanner mirrors (``logferry parse --format alb`` then takes 1.8 times as long).
Built for the stable ABI (``abi3``): one build serves Python 3.11 and every later version,
which lets the Lambda zips ship it.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "logferry.formats._albscan",
            ["logferry/formats/_albscan.c"],
            py_limited_api=True,
            optional=True,
        )
    ]
)
