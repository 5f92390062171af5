//! Losses for training (generic over burn backends) and the evaluation and calibration toolkit
//! (plain arrays): ROC-AUC, average precision, F1, ECE, temperature and Platt scaling.
#![warn(missing_docs)]
