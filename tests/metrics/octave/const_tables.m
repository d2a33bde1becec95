## octave-cli const_tables.m OUT.mat
## For every grey level c = 0..255: the statistics Octave computes for a window whose
## full-resolution support is constant c, at each scale s = 1..4 of the pixel-VIF core:
## X(c+1, s) = the scale-s input value, MU(c+1, s) = filter2 of it, E2(c+1, s) = filter2 of its
## square (same code path as vif_oracle.m: fspecial, filter2 'valid', [::2, ::2] decimation).
pkg load image
args = argv ();
X = zeros (256, 4); MU = X; E2 = X;
for c = 0:255
  x = c * ones (65, 65);
  for s = 1:4
    n = 2 ^ (5 - s) + 1;
    win = fspecial ("gaussian", n, n / 5);
    if (s > 1)
      y = filter2 (win, x, "valid");
      x = y(1:2:end, 1:2:end);
    endif
    mu = filter2 (win, x, "valid");
    e2 = filter2 (win, x .* x, "valid");
    X(c + 1, s) = x(1, 1);
    MU(c + 1, s) = mu(1, 1);
    E2(c + 1, s) = e2(1, 1);
  endfor
endfor
save ("-v7", args{1}, "X", "MU", "E2");
