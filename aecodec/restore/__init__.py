"""Restoration: denoising and inpainting of images and audio with the learned models.

``image`` and ``audio`` run the networks in ``aecodec.models`` (``image.restore_unet``,
``audio.mask_gru``) on ``Image`` / ``Audio``;
``masks`` draws the hole masks that inpainting trains and is benchmarked on (brush strokes,
boxes) and ``degrade`` makes the noisy inputs of the benchmark protocols (8-bit AWGN, speech
mixed with noise at a given SNR). ``networks`` loads the shipped models once per process. Import the submodule you need: this package imports nothing,
so ``masks`` and ``degrade`` stay numpy-only and never load torch.
"""
