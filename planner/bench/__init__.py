"""Standard routing benchmarks: Solomon VRPTW and team orienteering with time windows.

Readers (:mod:`.solomon`, :mod:`.toptw`), references (:mod:`.bks`), an independent checker
(:mod:`.checker`), the runner that measures patrolgrid beside its peers (:mod:`.runner`) and
the tables it prints (:mod:`.report`).
"""
