"""Service calls: a press on a call button opens a call; staff acknowledge it."""
