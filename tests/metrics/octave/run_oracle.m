## octave-cli run_oracle.m IN1.mat OUT1.mat [IN2.mat OUT2.mat ...]
## IN.mat holds `refs` (K x H x W double), `dist` (H x W double), `order` ([i j] or []) and
## `want_maps` (0/1), optionally `as_uint8` (0/1); OUT.mat receives num, den, vid, vind, viff and (if asked) maps1..maps4.
pkg load image
args = argv ();
for a = 1:2:numel (args)
  in = load (args{a});
  refs = cell (1, size (in.refs, 1));
  for k = 1:numel (refs)
    refs{k} = reshape (in.refs(k, :, :), size (in.refs, 2), size (in.refs, 3));
  endfor
  res = vif_oracle (refs, in.dist, in.order, isfield (in, "as_uint8") && in.as_uint8);
  num = res.num; den = res.den; vid = res.vid; vind = res.vind; viff = res.viff;
  if (in.want_maps)
    maps1 = res.maps{1}; maps2 = res.maps{2}; maps3 = res.maps{3}; maps4 = res.maps{4};
    save ("-v7", args{a + 1}, "num", "den", "vid", "vind", "viff", "maps1", "maps2", "maps3", "maps4");
  else
    save ("-v7", args{a + 1}, "num", "den", "vid", "vind", "viff");
  endif
endfor
