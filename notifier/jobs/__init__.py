"""dramatiq actors (thin: ids in, plain functions do the work) and the clock's jobs."""
