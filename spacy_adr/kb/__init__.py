"""Resources apart from the Pipes: MedDRA concepts and term lexicons."""
