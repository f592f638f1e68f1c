"""Loading items: readers per format, text preparation, bad-row reporting."""
