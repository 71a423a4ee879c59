"""Reading segments: insights and export."""
