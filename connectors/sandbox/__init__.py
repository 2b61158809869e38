"""The sandbox: an in-process messenger for newcomers, the playground and the tests."""
