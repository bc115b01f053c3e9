"""What the packaged pipelines carry and tell their users: meta.json (licence, sources,
measured performance), the wheel-content check, the README's data table."""
