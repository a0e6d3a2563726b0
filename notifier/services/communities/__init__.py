"""The district's shape: communities (their regions and staff) and departments."""
