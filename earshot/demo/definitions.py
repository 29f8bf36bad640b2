"""What each number in the demo report means (shown at the end of the report)."""

DEFINITIONS = {
    "SNR": "Signal-to-noise ratio of the estimate against the reference, 10 log10(|x|^2 / |x - y|^2), dB. Higher is better.",
    "SI-SDR": "Scale-invariant signal-to-distortion ratio (Le Roux et al. 2019): SNR after the optimal scaling of the reference, dB. Higher is better.",
    "SDR / SIR / SAR": "BSS-eval v4 (museval conventions): distortion, interference and artefact ratios from a 512-tap projection, median over 1 s frames, dB. Higher is better.",
    "PESQ": "ITU-T P.862 perceptual speech quality (wide band at 16 kHz), from the pesq package; about 1 (bad) to 4.6 (excellent). Speech only.",
    "STOI / ESTOI": "Short-time objective intelligibility (Taal et al. 2011) and its extended form (Jensen and Taal 2016), from pystoi; 0 to 1. Higher is better.",
    "mel distance": "DAC's multi-scale mel distance: L1 of log mel spectrograms over windows 32..2048. Lower is better.",
    "STFT distance": "DAC's multi-scale STFT distance (windows 2048 and 512). Lower is better.",
    "LSD": "Log-spectral distance: RMS over frequency of the dB difference, mean over frames. Lower is better.",
    "JND distance": "The learned just-noticeable-difference distance (earshot's DPAM-style network, trained on simulated-listener judgments). 0 for identical audio; lower is better.",
    "codec effect explained (E)": "1 - D(emulator(x), codec(x)) / D(x, codec(x)) with D the log-mel L1 distance: how much of the real codec's change the emulator reproduces. 1 is perfect.",
    "style reduction": "1 - D_style(output, style) / D_style(content, style), with D_style the relative Gram-over-time distance in the feature network: how far the output moved towards the style. 1 is all the way.",
    "kbps": "Bitrate of the coded stream in kilobits per second.",
    "ViSQOL": "Virtual Speech Quality Objective Listener v3 (Chinen et al. 2020), MOS-LQO from 1 to 5: speech mode for speech, audio mode (48 kHz) for music. Higher is better.",
    "mean [low, high]": "In the experiments' tables: the mean over seeds of each seed's mean over the test items, and its Student-t 95% interval over seeds (wide with 2 or 3 seeds).",
    "paired test": "Median over test items of (model - baseline), each item's score averaged over seeds, and the two-sided Wilcoxon signed-rank p over those items.",
}
