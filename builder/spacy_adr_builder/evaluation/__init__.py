"""Scores, evaluations, the tweet stream, speed, and the metrics files they write."""
