"""Frame copy detection (issue #21): which reference frame a repost was copied from."""
