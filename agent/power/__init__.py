"""Power and energy: one module per source, `select` picks the best the device has.

Every sample names its source (`rapl:counter`, `ina3221:integrated@1hz`,
`estimated:tdp-load-cubic`, ...), and a source that cannot measure is absent, never a zero.
"""
