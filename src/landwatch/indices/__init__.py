"""Pure kernels: arrays in, arrays out. No files, no HTTP, no prints."""
