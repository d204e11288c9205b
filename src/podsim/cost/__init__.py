"""Cost models (layer 6): compute, memory and collective communication, vectorised with numpy.

Every cost function takes scalars or arrays that broadcast together (one configuration or a
million in one call) and a fixed ``System``; results are numpy arrays in SI units (seconds, bytes).
"""
