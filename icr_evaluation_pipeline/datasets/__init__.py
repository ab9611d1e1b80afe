"""Sources of raw data sets: scikit-learn's bundled data, palmerpenguins, local files, OpenML."""
