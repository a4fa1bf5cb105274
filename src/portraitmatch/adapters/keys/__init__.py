"""adapters/keys"""
