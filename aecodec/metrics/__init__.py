"""Quality and rate metrics: ``image`` (PSNR, MS-SSIM), ``audio`` (SI-SNR, mel distance), ``bd``.

Import the submodule you need; this package imports nothing so that ``bd`` stays numpy-only.
"""
