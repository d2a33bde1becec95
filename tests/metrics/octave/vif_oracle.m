function out = vif_oracle (refs, dist, order, as_uint8)
  ## Independent transcription of the multi-scale pixel-VIF core and of Han et al.'s VIFF
  ## selection, written for this project from their published definitions, to run in GNU Octave
  ## as a development oracle of the reference arithmetic (filter2 'valid' = Octave's conv2).
  ##
  ## refs:  cell array of reference images (double, 0-255); dist: distorted (fused) image.
  ## order: [i j] = VIFF source 1 is refs{i}, source 2 is refs{j}; [] for no VIFF.
  ## as_uint8: feed the images as uint8 (Tang's 2022 code): the products of the first scale are
  ## uint8 products, saturating at 255, before filtering.
  ## out.num(s, k), out.den(s, k): sums of VID / VIND (sigma_n^2 = 2) of reference k at scale s;
  ## out.vid(s), out.vind(s): sums of the selected VIFF maps (sigma_n^2 = 0.005*255^2, with
  ## C = 1e-7 added per pixel as Han's code does); out.viff: VIFF;
  ## out.maps{s}: [g_1 ... g_K, sel] per pixel (sel = 1 where source 1 is selected).
  nref = numel (refs);
  sq = 0.005 * 255 * 255;
  C = 1e-7;
  weights = [1 0 0.15 1] / 2.15;
  x = [refs(:)', {dist}];
  if (nargin > 3 && as_uint8)
    x = cellfun (@uint8, x, "UniformOutput", false);
  endif
  out.num = zeros (4, nref);
  out.den = zeros (4, nref);
  out.vid = zeros (4, 1);
  out.vind = zeros (4, 1);
  out.maps = cell (4, 1);
  for s = 1:4
    n = 2 ^ (5 - s) + 1;
    win = fspecial ("gaussian", n, n / 5);
    if (s > 1)
      for k = 1:nref + 1
        y = filter2 (win, x{k}, "valid");
        x{k} = y(1:2:end, 1:2:end);
      endfor
    endif
    d = x{nref + 1};
    mud = filter2 (win, d, "valid");
    vd = filter2 (win, d .* d, "valid") - mud .* mud;
    vd(vd < 0) = 0;
    gk = cell (1, nref); zk = gk; mk = gk;
    for k = 1:nref
      r = x{k};
      mur = filter2 (win, r, "valid");
      vr = filter2 (win, r .* r, "valid") - mur .* mur;
      cv = filter2 (win, r .* d, "valid") - mur .* mud;
      vr(vr < 0) = 0;
      g = cv ./ (vr + 1e-10);
      sv = vd - g .* cv;
      low = vr < 1e-10;
      g(low) = 0;
      sv(low) = vd(low);
      vr(low) = 0;
      low = vd < 1e-10;
      g(low) = 0;
      sv(low) = 0;
      neg = g < 0;
      sv(neg) = vd(neg);
      g(neg) = 0;
      sv(sv <= 1e-10) = 1e-10;
      out.num(s, k) = sum (sum (log10 (1 + g .^ 2 .* vr ./ (sv + 2))));
      out.den(s, k) = sum (sum (log10 (1 + vr ./ 2)));
      gk{k} = g;
      zk{k} = log10 (1 + g .^ 2 .* vr ./ (sv + sq));
      mk{k} = log10 (1 + vr ./ sq);
    endfor
    if (! isempty (order))
      i = order(1); j = order(2);
      pick = gk{i} < gk{j};
      z = zk{j}; z(pick) = zk{i}(pick);
      m = mk{j}; m(pick) = mk{i}(pick);
      out.vid(s) = sum (sum (z + C));
      out.vind(s) = sum (sum (m + C));
      out.maps{s} = cat (3, gk{:}, double (pick));
    else
      out.maps{s} = cat (3, gk{:});
    endif
  endfor
  out.viff = sum ((out.vid ./ out.vind)' .* weights);
endfunction
