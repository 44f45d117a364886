package dataset

import (
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"testing"

	_ "image/jpeg"
)

func TestZZPhotos(t *testing.T) {
	for _, set := range []string{"cockatoo", "kermit", "et"} {
		row := image.NewNRGBA(image.Rect(0, 0, 5*160, 2*130))
		for i := 1; i <= 5; i++ {
			f, _ := os.Open(fmt.Sprintf("/work/masks/%s/%d.jpg", set, i))
			img, _, err := image.Decode(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			cut, err := ExtractObject(img)
			t.Logf("%s %d: err %v", set, i, err)
			sm := resizeArea(toNRGBA(img), img.Bounds(), 160, 160*img.Bounds().Dy()/img.Bounds().Dx())
			draw.Draw(row, image.Rect((i-1)*160, 0, i*160, 130), sm, sm.Rect.Min, draw.Src)
			if cut != nil {
				w, h := cut.Rect.Dx(), cut.Rect.Dy()
				s := 120.0 / float64(max(w, h))
				c := resizeArea(cut, cut.Rect, max(1, int(float64(w)*s)), max(1, int(float64(h)*s)))
				draw.Draw(row, image.Rect((i-1)*160, 130, (i-1)*160+c.Rect.Dx(), 130+c.Rect.Dy()), c, c.Rect.Min, draw.Over)
			}
		}
		fo, _ := os.Create("/tmp/auto-" + set + ".png")
		png.Encode(fo, row)
		fo.Close()
	}
}
