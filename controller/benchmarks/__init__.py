"""Benchmark results on the controller side: the result contract, storage per device, and
collecting results from `bench` jobs (carbon per inference added on the way in)."""
