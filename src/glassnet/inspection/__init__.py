"""Looking inside a model: gradient checks, health reports, figures.

    gradcheck.py     backward against central differences, for layers, losses and models
    diagnostics.py   per-layer gradient norms, update sizes, dead and saturated units
    plot/            figures (imports matplotlib: loaded only when used)

Public homes stay `glassnet.gradcheck`, `glassnet.diagnostics` and `glassnet.plot`.
"""
