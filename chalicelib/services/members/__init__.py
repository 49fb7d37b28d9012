"""Members: profiles and devices, the support view, the member index rebuild."""
