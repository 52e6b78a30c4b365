"""indices/drought"""
